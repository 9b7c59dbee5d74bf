"""Department evaluation: KPIs, the third-party panel, the weighted ranking and the quarterly circular."""
