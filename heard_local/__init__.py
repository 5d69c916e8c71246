"""heard-local: private, local-first conversation intelligence.

Import what you need from the subpackages; importing ``heard_local`` itself stays cheap (no torch,
no web framework)::

    from heard_local.engine import Engine          # the engine, in process
    from heard_local.client import HeardClient     # a running server, over HTTP
"""

__version__ = "0.1.0"
