"""Core of the curation dashboard: storage, ingest, embeddings and vectors. No Streamlit here."""
