"""What many tests share: paths, layouts, tiny configs, command runners, probes."""


def record_returns(monkeypatch, owner, name):
    """A list that receives every return value of ``owner.<name>`` (a method,
    or the ``call`` of a sub-layer) while the test runs; calls behave as before.

    Parity tests read a network's intermediate tensors this way, so the public
    models need no debug outputs.
    """
    returned = []
    original = getattr(owner, name)

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        returned.append(result)
        return result

    monkeypatch.setattr(owner, name, recording)
    return returned
