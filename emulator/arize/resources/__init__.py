"""The emulated account's resources, one module each, as mixins over the shared store.

Each module holds one resource's operations (the methods the routes call) and its cascades.
A mixin builds on the floor it needs (:class:`~emulator.arize.store.Store`,
:class:`~emulator.arize.authorization.Authorization`, or a resource whose cascade it runs);
:mod:`emulator.arize.state` puts them together.
"""
