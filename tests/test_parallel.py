"""The executor: inline, local processes, Ray (skipped when Ray is absent)."""
import pytest

from lcodec.errors import UsageError
from lcodec.parallel import Executor, LocalExecutor, get_executor


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise RuntimeError("three")
    return x


def test_inline_and_local_give_the_same_results():
    assert list(Executor().map_unordered(square, range(5))) == [0, 1, 4, 9, 16]
    with get_executor("local", 1) as ex:
        assert list(ex.map_unordered(square, range(5))) == [0, 1, 4, 9, 16]
    with LocalExecutor(2) as ex:
        assert sorted(ex.map_unordered(square, range(7))) == [x * x for x in range(7)]
        assert sorted(ex.map_unordered(square, iter([]))) == []


def test_errors_propagate():
    with LocalExecutor(2) as ex, pytest.raises(RuntimeError, match="three"):
        list(ex.map_unordered(fail_on_three, range(5)))


def test_bad_arguments():
    with pytest.raises(UsageError):
        get_executor("local", 0)
    with pytest.raises(UsageError, match="unknown executor"):
        get_executor("dask")


def test_ray_executor():
    pytest.importorskip("ray")
    with get_executor("ray", 2) as ex:
        assert sorted(ex.map_unordered(square, range(4))) == [0, 1, 4, 9]
