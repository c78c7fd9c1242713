"""Patches that make moto tell the truth (ADR 0030 lists each gap with its probe).

`apply_moto_patches()` is idempotent. It

1. serialises moto's DynamoDB request handling behind one process-wide re-entrant lock (stock
   moto checks conditions and writes without a lock, so concurrent requests oversell and a
   cancelled TransactWriteItems restores whole-table snapshots over other threads' writes);
2. replaces moto's Docker-based Lambda execution with an in-process call through the registered
   `LambdaRuntime` (`set_lambda_runtime`), returning the Lambda runtime's error envelope on
   exceptions so Step Functions Retry/Catch match on `errorType`;
   With `local.capacity` switched on (env LOCAL_DDB_CAPACITY_WCU_PER_ITEM, ADR 0023), writes
   are metered per item: TransactionConflict / ThrottlingError cancellations and
   ThrottlingException as DynamoDB gives a hot item; with its "aws" rules (ADR 0051), reads and
   writes per partition, DynamoDB's three transaction conflict rules (TransactGetItems included)
   and ProvisionedThroughputExceededException; TransactGetItems takes 100 items, not 25;
3. turns on moto's Step Functions interpreter (`execute_state_machine`) and fixes two moto 5.2.5
   bugs in it: SendTaskFailure drops `cause`, and StartExecution without `name` gives every
   execution the ARN `...:None` (so the second unnamed start fails);
4. makes Cognito's refresh of a deleted user's token and a user's own email change answer as
   Cognito does (NotAuthorizedException; the email change verified-or-kept, never trusted).
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.lambda_runtime import LambdaRuntime

# One lock for all DynamoDB requests of this process (re-entrant: a request handler may end up
# calling back into moto's DynamoDB code on the same thread).
DYNAMODB_LOCK = threading.RLock()

_patch_lock = threading.Lock()
_applied = False

_runtime: LambdaRuntime | None = None


class LambdaRuntimeNotRegistered(RuntimeError):
    """moto was asked to invoke a Lambda function but no in-process runtime knows it."""


def set_lambda_runtime(runtime: LambdaRuntime | None) -> LambdaRuntime | None:
    """Register the runtime that moto's Lambda invokes in-process; returns the previous one."""
    global _runtime
    previous, _runtime = _runtime, runtime
    return previous


def get_lambda_runtime() -> LambdaRuntime | None:
    return _runtime


def apply_moto_patches() -> None:
    global _applied
    with _patch_lock:
        if _applied:
            return
        _patch_dynamodb_lock()
        _patch_dynamodb_transactions()
        _patch_dynamodb_transaction_tokens()
        _patch_dynamodb_single_write_capacity()
        _patch_dynamodb_read_capacity()
        _patch_dynamodb_transaction_item_limit()
        _patch_lambda_invoke()
        _enable_step_functions_execution()
        _patch_step_functions_bugs()
        _patch_cognito_refresh_of_deleted_user()
        _patch_cognito_email_change()
        _patch_cognito_lock()
        from local.moto_hooks import install_moto_hooks

        install_moto_hooks()  # observers only (stream writes, TTL values): local/moto_hooks.py
        from local.gsi_lag import install_gsi_lag

        install_gsi_lag()  # eventually consistent GSIs, off unless LOCAL_GSI_LAG_SECONDS / lagged(): ADR 0032
        from local.moto_fast_paths import install_fast_paths

        install_fast_paths()  # same answers, less CPU (item responses as plain JSON): ADR 0034
        _applied = True


# -- Cognito ----------------------------------------------------------------------------------
def _patch_cognito_refresh_of_deleted_user() -> None:
    """moto 5.2.5 answers HTTP 500 (AttributeError) to a refresh token whose user was deleted;
    Cognito answers NotAuthorizedException."""
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpUserPool

    original = CognitoIdpUserPool.create_tokens_from_refresh_token

    @functools.wraps(original)
    def create_tokens_from_refresh_token(self: Any, refresh_token: str) -> Any:
        entry = self.refresh_tokens.get(refresh_token)
        if entry is not None and entry[1] and self._get_user(entry[1]) is None:
            raise NotAuthorizedError("Refresh Token has been revoked")
        return original(self, refresh_token)

    CognitoIdpUserPool.create_tokens_from_refresh_token = create_tokens_from_refresh_token  # type: ignore[method-assign]


def _patch_cognito_email_change() -> None:
    """moto 5.2.5 takes a user's own email change (UpdateUserAttributes) as is, still verified.
    Cognito never does: with `AttributesRequireVerificationBeforeUpdate: [email]` the verified
    address stays `email` until the new one's code is confirmed (no code flow here: it stays);
    without it, the new address is `email` with `email_verified` false."""
    from moto.cognitoidp.models import CognitoIdpBackend

    original = CognitoIdpBackend.update_user_attributes
    if getattr(original, "_local_patched", False):
        return

    @functools.wraps(original)
    def update_user_attributes(self: Any, access_token: str, attributes: list[dict[str, str]]) -> None:
        email = next((a["Value"] for a in attributes if a["Name"] == "email"), None)
        for pool in self.user_pools.values():
            if email is None or access_token not in pool.access_tokens:
                continue
            user = pool._get_user(pool.access_tokens[access_token][1])
            if user is None or user.attribute_lookup.get("email") == email:
                break
            settings = pool.extended_config.get("UserAttributeUpdateSettings") or {}
            others = [a for a in attributes if a["Name"] not in ("email", "email_verified")]
            if "email" in settings.get("AttributesRequireVerificationBeforeUpdate", []):
                attributes = others
            else:
                attributes = [*others, {"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "false"}]
            break
        return original(self, access_token, attributes)

    update_user_attributes._local_patched = True  # type: ignore[attr-defined]
    CognitoIdpBackend.update_user_attributes = update_user_attributes  # type: ignore[method-assign]


COGNITO_LOCK = threading.RLock()


def _patch_cognito_lock() -> None:
    """One Cognito request at a time: moto's user pools are plain dicts, so a sign-up while
    another request walks the users raised "OrderedDict mutated during iteration" (a 500 on
    concurrent registrations once calls arrived in-process, ADR 0029). Cognito itself is safe."""
    from moto.cognitoidp.responses import CognitoIdpResponse

    original = CognitoIdpResponse.call_action
    if getattr(original, "_local_locked", False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with COGNITO_LOCK:
            return original(self)

    call_action._local_locked = True  # type: ignore[attr-defined]
    CognitoIdpResponse.call_action = call_action  # type: ignore[method-assign]


# -- 1. DynamoDB ------------------------------------------------------------------------------
def _patch_dynamodb_lock() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "_local_locked", False):
        return

    from local import capacity

    capacity.configure_from_environment()

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        target = str((getattr(self, "headers", None) or {}).get("X-Amz-Target", ""))
        with capacity.request(target.rpartition(".")[2], self):
            with DYNAMODB_LOCK:
                result = original(self)
            capacity.wait_while_in_flight()  # a metered transaction answers once it committed
            return result

    call_action._local_locked = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


# ClientRequestToken -> (fingerprint of the request, when, moto's answer); ten minutes, as DynamoDB.
TRANSACTION_TOKEN_SECONDS = 600
_transaction_tokens: dict[str, tuple[str, float, Any]] = {}


def _patch_dynamodb_transaction_tokens() -> None:
    """moto 5.2.5 ignores TransactWriteItems' ClientRequestToken. DynamoDB does not: a request
    repeated with the same token within 10 minutes succeeds without being applied again (and with
    other items is IdempotentParameterMismatchException). botocore sends one token on every
    attempt of a call, so a transaction whose answer was lost (a read timeout) and that the SDK
    retries is applied once on AWS; here the retry used to fail its own conditions, and code that
    then reads and decides again (a cart add) applied the change twice."""
    import time as _time

    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, "_local_tokens", False):
        return

    class IdempotentParameterMismatch(DynamodbException):
        def __init__(self) -> None:
            super().__init__("com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                             message="The request uses the same client token as a previous, but non-identical request.")

    @functools.wraps(original)
    def transact_write_items(self: Any) -> Any:
        token = (getattr(self, "body", None) or {}).get("ClientRequestToken")
        if not token:
            return original(self)
        fingerprint = json.dumps(self.body.get("TransactItems"), sort_keys=True, default=str)
        now = _time.monotonic()
        with DYNAMODB_LOCK:  # held already by the request (re-entrant); a check-then-store stays atomic
            if len(_transaction_tokens) % 256 == 255:  # now and then, not on every call
                for stale in [key for key, (_, at, _) in _transaction_tokens.items() if now - at > TRANSACTION_TOKEN_SECONDS]:
                    del _transaction_tokens[stale]
            seen = _transaction_tokens.get(token)
            if seen is not None:
                if seen[0] != fingerprint:
                    raise IdempotentParameterMismatch()
                return seen[2]
            answer = original(self)
            _transaction_tokens[token] = (fingerprint, now, answer)
            return answer

    transact_write_items._local_tokens = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _patch_dynamodb_transactions() -> None:
    """TransactWriteItems without deep-copying whole tables.

    moto 5.2.5 deep-copies every table a transaction touches (items AND stream records) before
    applying it item by item, to roll back on failure: O(table size) per transaction, so a
    local stack with a few hundred products spent ~300 ms per transaction and grew worse as the
    stream grew. Under the DynamoDB lock nothing else runs, so checking every condition first
    and writing only if all pass is atomic, as in DynamoDB; only the touched items are kept
    aside in case a write itself fails. Cancellation reasons keep moto's (and AWS's) shape.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    from local import capacity

    if getattr(DynamoDBBackend.transact_write_items, "_local_patched", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        touched: list[tuple[str, str]] = []
        planned: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
        placed: list[tuple[tuple[str, str], int]] = []
        reasons: list[tuple[Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            original_item = None
            try:
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                if op_type == "Put":
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                identity = (str(table_name), str(dict(sorted(key.items()))))
                if identity in seen:
                    raise MultipleTransactionsException()
                seen.add(identity)
                touched.append(capacity.item_identity(table_name, key))
                current = self.get_item(table_name, key)
                if capacity.METER.aws:  # ADR 0051: the item's partition, and what it weighs
                    hash_key = self.get_table(table_name).hash_key_attr
                    size = max(current.size() if current else 0,
                               capacity.attribute_size(op["Item"]) if op_type == "Put" else 0)
                    placed.append((capacity.partition_of(table_name, key[hash_key]), size))
                condition = op.get("ConditionExpression")
                if condition is not None:
                    expression = get_filter_expression(
                        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                    )
                    if not expression.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                planned.append((op_type, op, table_name, key))
                reasons.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as exc:
                reasons.append(("ConditionalCheckFailed", str(exc.message), original_item))
            except Exception as exc:  # noqa: BLE001 - reported as a cancellation reason, as moto does
                reasons.append((type(exc).__name__, str(exc), original_item))
        capacity_reasons = capacity.check_transaction(touched, placed) if len(touched) == len(transact_items) else None
        if capacity_reasons is not None:  # another transaction is in flight on an item, or it is out of WCU
            raise TransactionCanceledException(capacity_reasons)
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)

        kept = [(table_name, key, copy.deepcopy(self.get_item(table_name, key))) for _, _, table_name, key in planned]
        try:
            for op_type, op, table_name, key in planned:
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(table_name, op["Item"], expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Delete":
                    self.delete_item(table_name, key, expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Update":
                    self.update_item(
                        table_name, key, update_expression=op["UpdateExpression"],
                        expression_attribute_names=names, expression_attribute_values=values,
                    )
        except Exception:
            for table_name, key, before in reversed(kept):
                table = self.get_table(table_name)
                if before is None:
                    table.delete_item(*_key_values(table, key))
                else:
                    table.put_item(before.to_json()["Attributes"])
            raise

    transact_write_items._local_patched = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _patch_dynamodb_single_write_capacity() -> None:
    """PutItem / UpdateItem / DeleteItem requests spend the item's metered capacity (a no-op
    unless `local.capacity` is on; the writes a transaction applies are metered as the transaction)."""
    from moto.dynamodb.models import DynamoDBBackend

    from local import capacity

    if getattr(DynamoDBBackend.put_item, "_local_metered", False):
        return
    original_put, original_update, original_delete = (
        DynamoDBBackend.put_item, DynamoDBBackend.update_item, DynamoDBBackend.delete_item)

    def check(self: Any, action: str, table_name: str, key: dict[str, Any], size: int = 0) -> None:
        if not capacity.METER.aws:
            capacity.check_single(action, table_name, key)
            return
        # ADR 0051: the partition pays for the larger of the item before and after (here: before,
        # or a Put's new item)
        current = self.get_item(table_name, key)
        size = max(size, current.size() if current else 0)
        capacity.check_single(action, table_name, key, self.get_table(table_name).hash_key_attr, size)

    @functools.wraps(original_put)
    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if capacity.metering("PutItem"):
            table = self.get_table(table_name)
            key = {name: item_attrs[name] for name in (table.hash_key_attr, table.range_key_attr) if name}
            check(self, "PutItem", table_name, key, capacity.attribute_size(item_attrs))
        return original_put(self, table_name, item_attrs, *args, **kwargs)

    @functools.wraps(original_update)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if capacity.metering("UpdateItem"):
            check(self, "UpdateItem", table_name, key)
        return original_update(self, table_name, key, *args, **kwargs)

    @functools.wraps(original_delete)
    def delete_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if capacity.metering("DeleteItem"):
            check(self, "DeleteItem", table_name, key)
        return original_delete(self, table_name, key, *args, **kwargs)

    put_item._local_metered = True  # type: ignore[attr-defined]
    DynamoDBBackend.put_item = put_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    DynamoDBBackend.delete_item = delete_item  # type: ignore[method-assign]


def _patch_dynamodb_read_capacity() -> None:
    """Reads spend their partition's metered RCU under the "aws" rules (ADR 0051; a no-op
    otherwise): GetItem and BatchGetItem per item read (GetItem refused when short), and a
    TransactGetItems is cancelled with TransactionConflict for an item with a write in flight."""
    from moto.dynamodb.exceptions import TransactionCanceledException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    from local import capacity

    if getattr(DynamoDBBackend.get_item, "_local_metered", False):
        return
    original_get, original_transact_get = DynamoDBBackend.get_item, DynamoHandler.transact_get_items

    @functools.wraps(original_get)
    def get_item(self: Any, table_name: str, keys: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = original_get(self, table_name, keys, *args, **kwargs)
        if capacity.METER.aws and (capacity.metering("GetItem") or capacity.metering("BatchGetItem")):
            hash_key = self.get_table(table_name).hash_key_attr
            if hash_key in keys:
                action = "GetItem" if capacity.metering("GetItem") else "BatchGetItem"
                capacity.check_read(action, table_name, keys[hash_key], item.size() if item else 0,
                                    capacity.consistent_read(table_name))
        return item

    @functools.wraps(original_transact_get)
    def transact_get_items(self: Any) -> Any:
        gets = [entry.get("Get") or {} for entry in (self.body or {}).get("TransactItems") or []]
        if capacity.METER.aws and capacity.metering("TransactGetItems") and 0 < len(gets) <= TRANSACTION_ITEMS:
            entries = []
            for get in gets:
                table_name, key = get["TableName"], get["Key"]
                hash_key = self.dynamodb_backend.get_table(table_name).hash_key_attr
                item = self.dynamodb_backend.get_item(table_name, key)
                entries.append((capacity.item_identity(table_name, key),
                                capacity.partition_of(table_name, key[hash_key]), item.size() if item else 0))
            reasons = capacity.check_transact_get(entries)
            if reasons is not None:
                raise TransactionCanceledException(reasons)
        return original_transact_get(self)

    get_item._local_metered = True  # type: ignore[attr-defined]
    DynamoDBBackend.get_item = get_item  # type: ignore[method-assign]
    DynamoHandler.transact_get_items = transact_get_items  # type: ignore[method-assign]


# DynamoDB's limit per TransactWriteItems / TransactGetItems (moto 5.2.5 says 25: ADR 0051).
TRANSACTION_ITEMS = 100


def _patch_dynamodb_transaction_item_limit() -> None:
    """moto 5.2.5 refuses a TransactWriteItems / TransactGetItems of more than 25 items, DynamoDB's
    limit until 2022; it is 100 now (probe: tests/local/test_moto_gaps.py)."""
    import moto.dynamodb.responses as responses

    responses.TRANSACTION_MAX_ITEMS = TRANSACTION_ITEMS  # read by both handlers at call time


def _key_values(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


# -- 2. Lambda --------------------------------------------------------------------------------
def _invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for moto's `LambdaFunction._invoke_lambda`: (output, is_error, logs)."""
    from local.lambda_runtime import error_envelope

    runtime = _runtime
    if runtime is None:
        raise LambdaRuntimeNotRegistered(
            f"moto was asked to invoke {self.function_name!r} but no LambdaRuntime is registered "
            "(call local.moto_patches.set_lambda_runtime first)"
        )
    if self.function_name not in runtime.functions:
        raise LambdaRuntimeNotRegistered(
            f"moto was asked to invoke {self.function_name!r}, which the registered LambdaRuntime "
            f"does not know (it knows {sorted(runtime.functions)})"
        )
    # moto's LambdaFunction.invoke has already json.loads'ed the body (and passes the string
    # "{}" for an empty one); the Docker path json.dumps it again. Accept both forms.
    if event is None:
        payload: Any = {}
    elif isinstance(event, (str, bytes, bytearray)):
        payload = json.loads(event) if event else {}
    else:
        payload = event
    try:
        result = runtime.invoke(self.function_name, payload)
    except Exception as exc:  # the Lambda runtime reports any unhandled error as the envelope
        return json.dumps(error_envelope(exc)), True, ""
    return json.dumps(result), False, ""


def _patch_lambda_invoke() -> None:
    from moto.awslambda.models import LambdaFunction

    if LambdaFunction._invoke_lambda is not _invoke_in_process:
        LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]


# -- 3. Step Functions ------------------------------------------------------------------------
def _enable_step_functions_execution() -> None:
    # The server runs in this process, so setting the config here is what
    # `POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}` would do.
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_config({"stepfunctions": {"execute_state_machine": True}})


def _patch_step_functions_bugs() -> None:
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    # moto 5.2.5: the response handler never reads `cause`, although the interpreter supports it.
    def send_task_failure(self: Any) -> Any:
        task_token = self._get_param("taskToken")
        error = self._get_param("error")
        cause = self._get_param("cause")
        backend = self.stepfunction_backend
        if isinstance(backend, StepFunctionsParserBackend):
            backend.send_task_failure(task_token, error=error, cause=cause)
        else:  # the non-executing backend has no `cause` parameter
            backend.send_task_failure(task_token, error=error)
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]

    # moto 5.2.5: the interpreter backend builds the execution ARN from `name` even when it is
    # None; AWS generates a UUID name.
    original_start = StepFunctionsParserBackend.start_execution

    @functools.wraps(original_start)
    def start_execution(self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
