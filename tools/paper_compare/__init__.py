"""Side-by-side checks of this project against a checkout of the paper's repository."""
