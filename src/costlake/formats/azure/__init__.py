"""Azure cost details exports (EA, MCA, pay-as-you-go; actual and amortized)."""
