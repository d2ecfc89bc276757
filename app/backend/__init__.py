"""Marks app/backend as a package, so pytest (--import-mode=importlib) names the backend's
tests `backend.tests.*`. Without it they are named `app.backend.tests.*`, and the module
placeholders pytest creates for that name shadow the controller's top-level `app.py`."""
