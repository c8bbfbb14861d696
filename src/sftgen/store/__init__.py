from sftgen.store.sqlite_store import ItemResult, Store, open_store

__all__ = ["ItemResult", "Store", "open_store"]
