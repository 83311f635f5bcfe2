"""Audio features and audio-to-motion models."""
