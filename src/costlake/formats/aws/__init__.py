"""AWS Cost and Usage Reports: CUR 2.0 (Data Exports) and legacy CUR."""
