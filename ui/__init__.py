"""Streamlit components shared by pages. Pages stay thin; logic lives in core."""
