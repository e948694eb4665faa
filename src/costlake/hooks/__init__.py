"""The after-commit seam: features react to new data here, never by editing the sync engine.

After a sync commits (`SyncCommitted`) or a source is removed (`SourceRemoved`), the event is written to the
catalog's outbox for every handler that listens to it (`publish`). The scheduler of `costlake serve` and
`costlake worker` runs due deliveries (`Dispatcher`): a handler that fails is retried with backoff and never
touches the sync that raised the event. Handlers are listed in `DEFAULT_HANDLERS` (hooks/registry.py).
"""

from costlake.hooks.dispatch import Dispatcher, publish
from costlake.hooks.events import Event, SourceRemoved, SyncCommitted
from costlake.hooks.registry import DEFAULT_HANDLERS, Handler, HookContext

__all__ = ["DEFAULT_HANDLERS", "Dispatcher", "Event", "Handler", "HookContext", "SourceRemoved", "SyncCommitted", "publish"]
