"""Web pages of visual inspection: a trained model's evaluation report, threshold and a photo try-out."""
