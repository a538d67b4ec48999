"""Process monitoring in the web app: sensor data sets -> normal period -> trained model -> alarms."""
