"""The operations of the portal. Each public function is one database transaction.

Every face (pages, API, command line, worker) calls these; none holds business rules of
its own.
"""
