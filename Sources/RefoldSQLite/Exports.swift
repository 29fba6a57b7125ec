@_exported import RefoldStore
