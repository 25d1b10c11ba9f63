"""``get_config`` from the constructor's own arguments."""

import inspect


class ConfigFromInit:
    """Returns the ``__init__`` arguments (defaults applied) from ``get_config``,
    so a layer or model states its parameters once, in its signature.

    Keras records such arguments itself for layers, but not for subclassed
    ``keras.Model``s; this mixin serves both. Put it first among the bases.
    """

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls, *args, **kwargs)
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        arguments.pop("kwargs", None)  # name, dtype, ...: Keras' own config
        object.__setattr__(instance, "_init_arguments", arguments)
        return instance

    def get_config(self):
        return {**super().get_config(), **self._init_arguments}
