"""Espoo Sustainability Assistant."""
