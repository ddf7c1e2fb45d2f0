"""The one place customs moves goods in bonded: release out of bond, return into bond."""

from collections.abc import Sequence


def release_from_bond(*, order_no: str, inventory_list_no: str, destination_code: str) -> None:
    """Write off the account book and move the order's goods to the counter or dock.

    bonded makes this exactly once per inventory list; customs also records that it did it.
    Called inside the caller's savepoint (a refusal undoes it and is recorded on the order), so
    bonded takes none of its own.
    """
    from bonded.services import reservation_release_from_bond

    reservation_release_from_bond(
        reference=order_no,
        inventory_list_no=inventory_list_no,
        destination_code=destination_code,
        actor="customs",
        savepoint=False,
    )


def releases_from_bond(*, releases: Sequence[tuple[str, str, str]]) -> None:
    """release_from_bond for many orders at once, (order_no, inventory_list_no,
    destination_code) each: all of them or, on any refusal, none (it raises). Inside the
    caller's savepoint, as release_from_bond."""
    from bonded.services import Release, reservations_release_from_bond

    reservations_release_from_bond(
        releases=[Release(*release) for release in releases], actor="customs", savepoint=False
    )


def return_into_bond(
    *, order_no: str, return_no: str, location_code: str, lines: Sequence[dict]
) -> None:
    from bonded.services import StockLine, stock_return_into_bond

    stock_return_into_bond(
        reference=order_no,
        return_no=return_no,
        location_code=location_code,
        lines=[
            StockLine(item_no=line["item_no"], quantity=int(line["qty"]), line_no=int(line["gnum"]))
            for line in lines
        ],
        actor="customs",
    )
