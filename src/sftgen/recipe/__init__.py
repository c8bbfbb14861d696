from sftgen.recipe.loader import RecipeError, load_recipe
from sftgen.recipe.model import Recipe

__all__ = ["Recipe", "RecipeError", "load_recipe"]
