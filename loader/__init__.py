"""nps-warehouse loader: copies the production ``nps`` table day by day into the warehouse."""

__version__ = "0.1.0"
