"""Search backends, one module or package each; ``settings.SEARCH_BACKEND`` names one."""
