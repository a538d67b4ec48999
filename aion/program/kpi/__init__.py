"""KPI reporting: targets against actuals rolled up from records, exports, comparison-group data."""
