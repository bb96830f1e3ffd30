"""The in-order feed of many requests' pages (``--to`` with ``--each`` / ``--parallel``): pages that arrive out of
order are written in the result's order, a fan-out value only once complete (unless it is big), a list only as an
unbroken prefix, and no request starts while too much waits behind the first unwritten one."""

from __future__ import annotations

import threading

from okta_magic.pulls.inorder import InOrder


def feed(keys, *, prefix=False, **options):
    written: list[tuple[object, object]] = []
    return InOrder(keys, lambda key, data: written.append((key, data)), prefix=prefix, **options), written


def test_pages_that_arrive_out_of_order_are_written_in_the_keys_order():
    inorder, written = feed(["a", "b", "c"])
    inorder.page("c", [1])
    inorder.end("c", True)
    inorder.page("b", [2])
    inorder.drain()
    assert written == []  # "a", the first, has not answered: nothing after it may go
    inorder.page("a", [3])
    inorder.drain()
    assert written == []  # a fan-out value goes once complete
    inorder.end("a", True)
    inorder.drain()
    assert written == [("a", [3])]  # "b" is still being fetched
    inorder.page("b", [4])
    inorder.end("b", True)
    inorder.drain()
    assert written == [("a", [3]), ("b", [2]), ("b", [4]), ("c", [1])]
    assert (inorder.written_pages, inorder.written_rows) == (4, 4)


def test_a_failed_value_gives_no_rows_unless_it_was_big_enough_to_go_through():
    inorder, written = feed(["a", "b"], hold_rows=2)
    inorder.page("b", [1])
    inorder.end("b", False, failed=True)  # a 404 after one page: nothing of "b"
    inorder.page("a", [1])
    inorder.page("a", [2])  # two rows held: "a" goes through as it arrives
    inorder.drain()
    assert written == [("a", [1]), ("a", [2])]
    inorder.page("a", [3])
    inorder.end("a", False, failed=True)
    inorder.drain(final=True)
    assert written == [("a", [1]), ("a", [2])]
    assert inorder.spilled_failures == ["a"]


def test_interrupted_a_fan_out_writes_every_row_fetched_in_the_values_order():
    inorder, written = feed([1, 2, 3])
    inorder.page(3, ["x"])
    inorder.page(1, ["y"])  # neither complete
    inorder.end(3, False)  # stopped by the Ctrl-C before the writer's last round: its rows stay
    inorder.drain(final=True)
    assert written == [(1, ["y"]), (3, ["x"])]


def test_a_list_is_written_only_as_an_unbroken_prefix():
    inorder, written = feed([0, 1, 2], prefix=True)
    inorder.page(0, ["a"])
    inorder.drain()
    assert written == [(0, ["a"])]  # a window's pages go as they arrive
    inorder.page(2, ["c", "d"])
    inorder.end(2, True)
    inorder.end(0, True)
    inorder.page(1, ["b"])
    inorder.end(1, False, failed=True)  # window 1 fails after one page
    inorder.drain(final=True)
    inorder.close()
    assert written == [(0, ["a"]), (1, ["b"])]  # nothing after the gap
    assert inorder.unwritten_rows == 2


def test_a_stopped_window_ends_the_prefix():
    inorder, written = feed([0, 1], prefix=True)
    inorder.page(1, ["b"])
    inorder.end(1, True)
    inorder.page(0, ["a"])  # window 0 never finished (Ctrl-C)
    inorder.drain(final=True)
    inorder.close()
    assert written == [(0, ["a"])] and inorder.unwritten_rows == 1


def test_no_request_starts_while_too_much_waits_behind_the_first():
    stop = threading.Event()
    inorder, _ = feed(list(range(10)), keys_ahead=3, rows_ahead=5)
    started: list[int] = []

    def start(key: int) -> None:
        if inorder.may_start(key, stop):
            started.append(key)

    for key in (0, 1, 2):
        start(key)
    late = threading.Thread(target=start, args=(3,))
    late.start()
    late.join(0.5)
    assert started == [0, 1, 2] and late.is_alive()  # 3 is keys_ahead past the head
    inorder.end(0, True)
    inorder.drain()
    late.join(2)
    assert started == [0, 1, 2, 3]
    inorder.page(2, list(range(6)))  # six rows wait behind the head (1)
    blocked = threading.Thread(target=start, args=(4,))
    blocked.start()
    blocked.join(0.5)
    assert blocked.is_alive()
    inorder.page(1, [0])
    inorder.end(1, True)
    inorder.drain()  # 2 is the head now: its rows no longer wait
    blocked.join(2)
    assert started[-1] == 4
    stop.set()
    assert not inorder.may_start(9, stop)


def test_a_request_under_way_pauses_while_too_many_rows_wait_and_the_head_while_its_pages_are_unwritten():
    stop = threading.Event()
    inorder, written = feed([0, 1], rows_ahead=3, hold_rows=1, head_rows=2)
    inorder.page(1, [1, 2, 3])  # three rows wait behind the head: the next page of 1 must wait
    second = threading.Thread(target=inorder.page, args=(1, [4], stop))
    second.start()
    second.join(0.5)
    assert second.is_alive()
    for n in range(3):  # the head: one row held, two more unwritten; a fourth waits for the writer
        inorder.page(0, [n], stop)
    fourth = threading.Thread(target=inorder.page, args=(0, [3], stop))
    fourth.start()
    fourth.join(0.5)
    assert fourth.is_alive()
    inorder.drain()
    fourth.join(2)
    inorder.end(0, True)
    inorder.drain()  # 1 becomes the head: its page goes on
    second.join(2)
    assert not second.is_alive() and not fourth.is_alive()
    inorder.end(1, True)
    inorder.drain()
    assert [d for _, d in written] == [[0], [1], [2], [3], [1, 2, 3], [4]]
