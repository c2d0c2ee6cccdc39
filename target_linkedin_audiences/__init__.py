"""Singer target and admin CLI for LinkedIn Matched Audiences (DMP segments)."""

__version__ = "0.1.0"
