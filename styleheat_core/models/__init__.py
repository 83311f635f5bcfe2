"""Networks in the official module layout, so official state dicts load unchanged."""
