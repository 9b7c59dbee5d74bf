"""Reading petition text: segmentation, the learned gazetteer, hotspot topics, historical import."""
