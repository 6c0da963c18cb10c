from email.headerregistry import Address
from typing import Any

class EmailAddress(Address):
    def __init__(
        self,
        display_name: str | None = "",
        addr_spec: str | None = None,
        *,
        username: str = "",
        domain: str | None = None,
    ) -> None: ...
    @property
    def address(self) -> str: ...

def concat_lists(*args: Any) -> Any: ...
def parse_address_list(address_list: Any, field: str | None = None) -> list[EmailAddress]: ...
