"""Reading and writing the official checkpoint files."""
