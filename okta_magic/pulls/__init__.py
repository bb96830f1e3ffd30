"""One request start to finish, or many: a request as written, its pages as one value or a file.

``request`` (a request as written in a cell: method, path, ``{{var}}``, body), ``pull`` (one request:
the client's pages into frames), ``fanout`` (a request per value, many in flight), ``partition`` (one
list in windows), ``inorder`` (many requests' pages in the result's order) and ``targets`` (a file a
pull writes, checked before the first request).
"""
