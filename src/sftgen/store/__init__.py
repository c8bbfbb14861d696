from sftgen.store.results import ItemResult
from sftgen.store.store import Store, open_store

__all__ = ["ItemResult", "Store", "open_store"]
