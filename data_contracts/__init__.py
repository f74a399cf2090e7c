"""Data contracts for the landing-zone feeds: ODCS YAML files and the objects read from them.

The contracts in ``contracts/`` are the one place a feed's columns and rules are written;
code that checks data generates its checks from ``load_contracts()``: ``data_contracts.sql``
(DuckDB staging and quarantine SQL) and ``data_contracts.expectations`` (Great Expectations
suites; import it only where needed, Great Expectations is slow to import). Never imports
dagster.
"""

from data_contracts.reader import (
    Column,
    Contract,
    ContractError,
    Rule,
    contract_for_path,
    is_valid_nhs_number,
    load_contracts,
    practice_code_from_path,
)

__all__ = [
    "Column",
    "Contract",
    "ContractError",
    "Rule",
    "contract_for_path",
    "is_valid_nhs_number",
    "load_contracts",
    "practice_code_from_path",
]
