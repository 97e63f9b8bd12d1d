"""The facts and actions each event offers to its rule set, declared in code.

The rule loader checks every fact path and every action (with its parameters) in a rule
file against these declarations, and the rule editor uses them for completion (see
engine.core.rule_schema.export_rule_data). Fact types: number (Decimal), integer, string,
boolean, date, and for lists of values select and select_multiple (the two list types of
the `business-rules` package; a fact of either type is a list, the type only says which
condition operators apply). Parameter types: string, integer, number, boolean, select
(one of `options`).

OPERATORS lists the operators of the business-rules condition form per field type, with
that package's names, labels and input types, and FIELD_TYPES maps our fact types to its
field types (integer and number are both `numeric`). The package has no dates: `date`
is a field type of our own with the numeric operator names (compared without epsilon)
and input type `date`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FACT_TYPES = ("number", "integer", "string", "boolean", "date", "select", "select_multiple")
PARAM_TYPES = ("string", "integer", "number", "boolean", "select")


@dataclass(frozen=True)
class FactDecl:
    """One fact: its dotted path, type (FACT_TYPES), label, description, options."""

    path: str
    type: str
    label: str
    description: str = ""
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParamDecl:
    """One parameter of an action: a select parameter takes one of `options`."""

    name: str
    type: str
    label: str = ""
    required: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionDecl:
    """One action a rule may take, with its parameters."""

    name: str
    label: str
    params: tuple[ParamDecl, ...] = ()
    description: str = ""

    def param(self, name: str) -> ParamDecl | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class EventSchema:
    """What rules for one event may use: its facts and, when declared, its actions.

    `actions` None means actions are not checked (a facts-only schema, as tests use).
    """

    facts: Mapping[str, FactDecl]
    actions: Mapping[str, ActionDecl] | None = None


# ----------------------------------------- the condition operators of business-rules


def label_of(name: str) -> str:
    """A label from a name, as business-rules' fn_name_to_pretty_label makes it."""
    return " ".join(word.title() for word in name.split("_"))


_COMPARISONS = ("equal_to", "greater_than", "greater_than_or_equal_to", "less_than",
                "less_than_or_equal_to")
_SETS = ("contains_all", "is_contained_by", "shares_at_least_one_element_with",
         "shares_exactly_one_element_with", "shares_no_elements_with")

# field type -> operator -> (label, input type), as business_rules.operators declares them
OPERATORS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "numeric": {name: (label_of(name), "numeric") for name in _COMPARISONS},
    "string": {
        **{name: (label_of(name), "text")
           for name in ("equal_to", "starts_with", "ends_with", "contains", "matches_regex")},
        "equal_to_case_insensitive": ("Equal To (case insensitive)", "text"),
        "non_empty": ("Non Empty", "none"),
    },
    "boolean": {"is_true": ("Is True", "none"), "is_false": ("Is False", "none")},
    "select": {name: (label_of(name), "select") for name in ("contains", "does_not_contain")},
    "select_multiple": {name: (label_of(name), "select_multiple") for name in _SETS},
    "date": {name: (label_of(name), "date") for name in _COMPARISONS},
}
FIELD_TYPES: Mapping[str, str] = {
    "number": "numeric", "integer": "numeric", "string": "string", "boolean": "boolean",
    "date": "date", "select": "select", "select_multiple": "select_multiple",
}
# parameter type -> business-rules fieldType (booleans: a select of true and false)
PARAM_FIELDS: Mapping[str, str] = {
    "string": "text", "integer": "numeric", "number": "numeric", "boolean": "select",
    "select": "select",
}


def _schema(*decls: FactDecl) -> dict[str, FactDecl]:
    return {d.path: d for d in decls}


def _actions(*decls: ActionDecl) -> dict[str, ActionDecl]:
    return {d.name: d for d in decls}


CUSTOMER = (
    FactDecl("customer.number", "string", "Customer number"),
    FactDecl("customer.b2b", "boolean", "Business customer", "False for consumers (B2C)."),
    FactDecl("customer.country", "string", "Country (ISO 3166 alpha-2)"),
    FactDecl("customer.has_vat_id", "boolean", "Has a VAT id"),
)

FACTS: dict[str, dict[str, FactDecl]] = {
    "order.received": _schema(
        FactDecl("order.net_amount", "number", "Order net amount"),
        FactDecl("order.gross_amount", "number", "Order gross amount"),
        FactDecl("order.discount_percent", "number", "Largest line discount against list price, %"),
        FactDecl("order.line_count", "integer", "Number of lines"),
        FactDecl("order.currency", "string", "Currency (ISO 4217)"),
        FactDecl("order.from_quote", "boolean", "Order refers to one of our quotes"),
        FactDecl("order.quote_deviations", "integer", "Lines that differ from the quote"),
        FactDecl("order.confidence", "number", "Extraction confidence 0..1"),
        *CUSTOMER,
        FactDecl("customer.credit_limit", "number", "Credit limit"),
        FactDecl("customer.open_amount", "number", "Open receivables (gross)"),
        FactDecl("customer.overdue_amount", "number", "Overdue receivables (gross)"),
        FactDecl("customer.order_count", "integer", "Orders before this one"),
    ),
    "delivery.posted": _schema(
        FactDecl("delivery.net_amount", "number", "Delivered net amount"),
        FactDecl("delivery.completes_order", "boolean", "The order is now fully delivered"),
        FactDecl("delivery.is_backorder", "boolean", "Ships a back-ordered rest"),
        *CUSTOMER,
        FactDecl("customer.collective_invoice", "boolean", "Invoiced monthly in one invoice"),
        FactDecl("customer.payment_terms_days", "integer", "Payment terms, days net"),
    ),
    "bank.transaction": _schema(
        FactDecl("transaction.amount", "number", "Amount (credits positive)"),
        FactDecl("transaction.currency", "string", "Currency"),
        FactDecl("match.kind", "string", "How the best candidate was found",
                 "rf_reference, end_to_end, invoice_number, remittance, iban_amount, iban_sum, "
                 "name_amount, name_sum, amount_only, none",
                 options=("rf_reference", "end_to_end", "invoice_number", "remittance",
                          "iban_amount", "iban_sum", "name_amount", "name_sum", "amount_only",
                          "none")),
        FactDecl("match.confidence", "number", "Confidence of the best candidate 0..1"),
        FactDecl("match.difference", "number",
                 "Payment minus the open amount of the candidate after discount and deductions"),
        FactDecl("match.invoice_count", "integer", "Invoices in the candidate"),
        FactDecl("match.customer_known", "boolean", "The payer is a known customer"),
        FactDecl("match.discount", "number", "Cash discount (Skonto) taken within its period"),
        FactDecl("match.discount_days_late", "integer",
                 "Days after its period a cash discount was deducted (0: none or in time); "
                 "such a discount is not granted by the candidate"),
        FactDecl("match.deduction", "number", "Other deductions a remittance advice lists"),
        FactDecl("match.unapplied", "number", "Paid beyond the open items: the customer's credit"),
        FactDecl("match.payer", "string", "The payer against the customer of the items",
                 "iban (its account), name (its name, a new account), other (another "
                 "customer's account), unknown",
                 options=("iban", "name", "other", "unknown")),
    ),
    "dunning.run": _schema(
        FactDecl("invoice.days_overdue", "integer", "Days since the due date"),
        FactDecl("invoice.open_amount", "number", "Open amount"),
        FactDecl("invoice.gross_amount", "number", "Invoice gross amount"),
        FactDecl("invoice.level", "integer", "Highest reminder level sent so far (0: none)"),
        FactDecl("invoice.days_since_last_notice", "integer", "Days since the last reminder"),
        FactDecl("invoice.on_hold", "boolean", "Disputed, promised or blocked"),
        FactDecl("invoice.escalated", "boolean", "Already handed to a person"),
        *CUSTOMER,
    ),
}


ROLES = ("clerk", "sales_manager", "credit_controller", "finance")

ACTIONS: dict[str, dict[str, ActionDecl]] = {
    "order.received": _actions(
        ActionDecl("approve", "Approve", description="Confirm the order without a person."),
        ActionDecl("require_approval", "Require approval", (
            ParamDecl("role", "select", "Role", required=True, options=ROLES),
        ), "A person with the role approves or rejects the order."),
        ActionDecl("reject", "Reject", (
            ParamDecl("reason", "string", "Reason", required=True),
        )),
    ),
    "delivery.posted": _actions(
        ActionDecl("invoice", "Invoice now", (
            ParamDecl("payment_days", "integer", "Payment terms, days net"),
            ParamDecl("cash_discount_percent", "number", "Cash discount, %"),
            ParamDecl("cash_discount_days", "integer", "Cash discount within days"),
        ), "Without payment_days the customer's payment terms apply."),
        ActionDecl("defer", "Defer the invoice", (
            ParamDecl("until", "select", "Until", required=True,
                      options=("month_end", "week_end")),
        )),
    ),
    "bank.transaction": _actions(
        ActionDecl("apply", "Apply the payment", (
            ParamDecl("partial", "boolean", "Partial payment"),
        )),
        ActionDecl("review", "A person reviews", (
            ParamDecl("queue", "select", "Queue", required=True,
                      options=("unmatched", "suggestions")),
        )),
    ),
    "dunning.run": _actions(
        ActionDecl("remind", "Send a reminder", (
            ParamDecl("level", "integer", "Reminder level", required=True),
            ParamDecl("fee", "number", "Reminder fee"),
            ParamDecl("interest", "boolean", "Claim default interest (§ 288 BGB; default yes)"),
            ParamDecl("flat_fee", "boolean",
                      "Claim the €40 flat fee from businesses (§ 288 (5) BGB; default yes)"),
        ), "Interest and the flat fee follow the law; the fee is the company's own."),
        ActionDecl("escalate", "Escalate to a person", (
            ParamDecl("role", "select", "Role", options=ROLES),
            ParamDecl("due_in_days", "integer", "Due in days"),
        ), "Without parameters: finance, due in 5 days."),
        ActionDecl("wait", "Wait", description="Nothing to send this time."),
    ),
}

EVENTS: dict[str, EventSchema] = {
    event: EventSchema(facts, ACTIONS[event]) for event, facts in FACTS.items()
}
