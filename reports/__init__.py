"""Daily reports: pure computations over the fills journal, and rendering."""
