"""Deployments and workloads: the signed document a client sends to a node."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from ._cfast import deployment_challenge
from ._gocodec import DecodeError, GoModel, generation
from ._gotypes import U32, U64, Name, Timestamp, Uint
from ._jsontext import RAW, Plan
from .errors import ValidationError
from .names import deployment_id, name_error, unique_name, workload_id
from .rawjson import LazySource, RawJSON
from .signing import sign_deployment, verify_deployment
from .units import Capacity
from .workload_data import WORKLOAD_TYPES, NetworkLightVariant, WorkloadData

if TYPE_CHECKING:
    from .keys import KeyPair
    from .upgrade import UpgradeOp


class ResultState(StrEnum):
    """The state of a workload as reported by the node."""

    INIT = "init"
    OK = "ok"
    ERROR = "error"
    DELETED = "deleted"
    PAUSED = "paused"
    UNCHANGED = "unchanged"

    def is_okay(self) -> bool:
        """``ok`` or ``paused``: the workload exists and holds its resources."""
        return self in (ResultState.OK, ResultState.PAUSED)


class Result(GoModel):
    """What the node reports about one workload (set by the node; ignored on deploy)."""

    go_type = "gridtypes.Result"

    created: Timestamp = 0
    state: str = ""
    message: str = ""
    data: RawJSON = Field(default_factory=RawJSON)

    raw_plan: ClassVar[Plan | None] = {"data": RAW}

    def attach_source(self, source: LazySource, path: tuple[str | int, ...]) -> None:
        self.data.attach(source, (*path, "data"))

    def is_empty(self) -> bool:
        return self.created == 0 and self.state == "" and self.message == "" and not self.data

    def is_okay(self) -> bool:
        return self.state in (ResultState.OK.value, ResultState.PAUSED.value)

    def valid(self) -> None:
        """A stored result needs ``created`` set and a known state."""
        if self.created == 0:
            raise ValidationError("created time must be set")
        if self.state not in {s.value for s in ResultState}:
            raise ValidationError(f"invalid state '{self.state}'")

    def unmarshal(self, cls: type[GoModel]) -> GoModel:
        """Decode ``data`` into a result model (e.g. ``ZMachineResult``)."""
        try:
            return cls.go_decode(self.data.value())
        except DecodeError as e:
            raise ValidationError(e.message(cls.go_type_name())) from None


class Workload(GoModel):
    """One item of a deployment: a name, a type and the type's raw ``data``.

    Build one from typed data with :meth:`Workload.new`; ``data`` stays the raw JSON text,
    decoded on demand by :meth:`workload_data`.
    """

    go_type = "gridtypes.Workload"

    version: U32 = 0
    name: Name = ""
    type: str = ""
    data: RawJSON = Field(default_factory=RawJSON)
    metadata: str = ""
    description: str = ""
    result: Result = Field(default_factory=Result)

    raw_plan: ClassVar[Plan | None] = {"data": RAW, "result": {"data": RAW}}

    def attach_source(self, source: LazySource, path: tuple[str | int, ...]) -> None:
        self.data.attach(source, (*path, "data"))
        self.result.attach_source(source, (*path, "result"))

    @classmethod
    def new(
        cls,
        name: str,
        data: WorkloadData,
        *,
        version: int = 0,
        metadata: str = "",
        description: str = "",
    ) -> Workload:
        """A workload of ``data``'s type (``Workload.new("disk", ZMount(size=GiB))``)."""
        return cls(
            version=version,
            name=name,
            type=data.type_name,
            data=RawJSON.from_value(data),
            metadata=metadata,
            description=description,
        )

    @field_validator("data", mode="before")
    @classmethod
    def _data_from_model(cls, value: Any) -> Any:
        return RawJSON.from_value(value) if value is not None else RawJSON()

    def data_type(self) -> builtins.type[WorkloadData]:
        cls = WORKLOAD_TYPES.get(self.type)
        if cls is None:
            raise ValidationError(f"invalid reservation type '{self.type}'")
        return cls

    def workload_data(self) -> WorkloadData:
        """The typed ``data``; ``ValidationError`` (Go's text) for an unknown type or bad data.

        The result is cached with the raw data: treat it as read-only, and to change a
        workload's data assign a new ``data`` (e.g. ``Workload.new``).
        """
        cls = self.data_type()
        raw = self.data
        typed = raw.cached(cls)
        if typed is None:
            try:
                value = raw.value()
                typed = cls.go_decode(value)
            except (DecodeError, ValidationError) as e:
                problem = e.message(cls.go_type_name()) if isinstance(e, DecodeError) else str(e)
                raise ValidationError(
                    f"failed to load data into object of type '*{cls.go_type_name()}': {problem}"
                ) from None
            raw.cache(cls, typed)
        return typed  # type: ignore[no-any-return]

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        # The data part depends only on the (immutable) raw data: computed once per variant.
        # Once computed, the data is known to decode into its type, so it is not checked again.
        raw = self.data
        cls = WORKLOAD_TYPES.get(self.type)
        rendered = raw.cached_challenge(cls, variant) if cls is not None else None
        if rendered is None:
            data = self.workload_data()  # raises for an unknown type or bad data
            pieces: list[str] = []
            data.write_challenge(pieces, variant)
            rendered = "".join(pieces)
            raw.cache_challenge(type(data), variant, rendered)
        out += (str(self.version), self.name, self.type, self.metadata, self.description)
        out.append(rendered)

    def challenge(self, variant: NetworkLightVariant = "wg") -> bytes:
        """This workload's part of the deployment challenge (UTF-8 bytes)."""
        out: list[str] = []
        self.write_challenge(out, variant)
        return "".join(out).encode()

    def capacity(self) -> Capacity:
        """The capacity this workload reserves (raises for an unknown type or bad data)."""
        return self.workload_data().capacity()

    def is_sharable(self) -> bool:
        return self.type in ("network", "network-light")

    def result_data(self) -> GoModel | None:
        """The typed result ``data``, or None when the type has no result data."""
        cls = self.data_type().result_type
        if cls is None:
            return None
        return self.result.unmarshal(cls)


class SignatureRequest(GoModel):
    """A twin whose signature the deployment asks for, and its weight."""

    go_type = "gridtypes.SignatureRequest"

    twin_id: U32 = 0
    required: bool = False
    weight: Uint = 0


class Signature(GoModel):
    """A twin's signature of the challenge hash, hex encoded."""

    go_type = "gridtypes.Signature"

    twin_id: U32 = 0
    signature: str = ""
    signature_type: str = ""


class SignatureRequirement(GoModel):
    """Who must sign the deployment, the weight needed, and the signatures given so far."""

    go_type = "gridtypes.SignatureRequirement"

    requests: list[SignatureRequest] = Field(default_factory=list)
    weight_required: Uint = 0
    signatures: list[Signature] = Field(default_factory=list)
    signature_style: str = ""

    @classmethod
    def for_twin(cls, twin_id: int, style: str = "") -> SignatureRequirement:
        """The TS client's default: one non-required request of weight 1, weight 1 needed."""
        return cls(
            requests=[SignatureRequest(twin_id=twin_id, required=False, weight=1)],
            weight_required=1,
            signature_style=style,
        )

    def write_challenge(self, out: list[str]) -> None:
        for request in self.requests:
            out += (str(request.twin_id), "true" if request.required else "false")
            out.append(str(request.weight))
        out += (str(self.weight_required), self.signature_style)


class Deployment(GoModel):
    """A deployment: versioned, owned by a twin, bound to a node contract, signed.

    ``Deployment.model_validate_json(raw)`` decodes client JSON the way the Go node does and
    ``model_dump_json()`` encodes what the node returns.
    """

    # The last challenge hash and what it was computed from (not a field: not compared,
    # copied or serialised). See ``challenge_hash``.
    __slots__ = ("_challenge_memo",)

    go_type = "gridtypes.Deployment"
    raw_plan: ClassVar[Plan | None] = {"workloads": [{"data": RAW, "result": {"data": RAW}}]}

    version: U32 = 0
    twin_id: U32 = 0
    contract_id: U64 = 0

    def attach_source(self, source: LazySource, path: tuple[str | int, ...]) -> None:
        for index, workload in enumerate(self.workloads):
            workload.attach_source(source, (*path, "workloads", index))

    metadata: str = ""
    description: str = ""
    expiration: Timestamp = 0
    signature_requirement: SignatureRequirement = Field(default_factory=SignatureRequirement)
    workloads: list[Workload] = Field(default_factory=list)

    @classmethod
    def new(
        cls,
        twin_id: int,
        workloads: list[Workload],
        *,
        contract_id: int = 0,
        version: int = 0,
        metadata: str = "",
        description: str = "",
        signature_style: str = "",
    ) -> Deployment:
        """A deployment of ``workloads`` owned and signed by ``twin_id`` alone."""
        return cls(
            version=version,
            twin_id=twin_id,
            contract_id=contract_id,
            metadata=metadata,
            description=description,
            signature_requirement=SignatureRequirement.for_twin(twin_id, signature_style),
            workloads=workloads,
        )

    # -- identity ---------------------------------------------------------------------------

    def deployment_id(self) -> str:
        """``"{twin}-{contract}"``."""
        return deployment_id(self.twin_id, self.contract_id)

    def workload_id(self, name: str) -> str:
        return workload_id(self.twin_id, self.contract_id, name)

    def unique_name(self, name: str, suffix: str) -> str:
        """The 13-character device name of ``suffix`` for workload ``name``."""
        return unique_name(self.workload_id(name), suffix)

    def get(self, name: str) -> Workload | None:
        """The workload called ``name``, if any."""
        for workload in self.workloads:
            if workload.name == name:
                return workload
        return None

    def by_type(self, *types: str) -> Iterator[Workload]:
        return (w for w in self.workloads if w.type in types)

    def is_active(self) -> bool:
        """True while any workload is in a state other than ``deleted`` or ``error``."""
        return any(w.result.state not in ("deleted", "error") for w in self.workloads)

    # -- challenge and hash -----------------------------------------------------------------

    def challenge(self, variant: NetworkLightVariant = "wg") -> bytes:
        """The bytes whose MD5 is signed and stored on chain (spec section 6).

        ``variant`` selects the network-light rendering: ``"wg"`` for current nodes,
        ``"legacy"`` for nodes before zosbase PR #61 (Sep 2025).
        """
        if variant == "wg":
            compiled = deployment_challenge(self)  # None: the renderer below decides
            if compiled is not None:
                return compiled
        out = [
            str(self.version),
            str(self.twin_id),
            self.metadata,
            self.description,
            str(self.expiration),
        ]
        types = WORKLOAD_TYPES
        for workload in self.workloads:
            # Inlined ``Workload.write_challenge`` for data whose part is already computed.
            cls = types.get(workload.type)
            rendered = None if cls is None else workload.data.cached_challenge(cls, variant)
            if rendered is None:
                workload.write_challenge(out, variant)
            else:
                out += (str(workload.version), workload.name, workload.type)
                out += (workload.metadata, workload.description, rendered)
        self.signature_requirement.write_challenge(out)
        return "".join(out).encode()

    def challenge_hash(self, variant: NetworkLightVariant = "wg") -> bytes:
        """MD5 of the challenge: the 16 raw bytes that are signed.

        Memoised: a node hashes a deployment and then checks its signatures over the same
        hash. The memo is valid while no grid model was assigned to anywhere (the global
        generation) and the workload and request lists hold the same objects; raw workload
        data is immutable (assign a new one to change it).
        """
        key = (
            generation(),
            variant,
            tuple(self.workloads),
            tuple(self.signature_requirement.requests),
        )
        memo: tuple[tuple[Any, ...], bytes] | None = getattr(self, "_challenge_memo", None)
        if memo is not None and memo[0] == key:
            return memo[1]
        digest = hashlib.md5(self.challenge(variant)).digest()
        object.__setattr__(self, "_challenge_memo", (key, digest))
        return digest

    def challenge_hash_hex(self, variant: NetworkLightVariant = "wg") -> str:
        """The 32 lowercase hex characters a client puts in the node contract."""
        return self.challenge_hash(variant).hex()

    def check_contract_hash(
        self, contract_hash: str | bytes, variant: NetworkLightVariant = "wg"
    ) -> None:
        """The node's check of the node contract's ``deployment_hash`` (32 hex characters).

        Raises ``ValidationError("contract hash does not match deployment hash")``.
        """
        text = (
            contract_hash.decode("utf-8", "replace")
            if isinstance(contract_hash, bytes)
            else contract_hash
        )
        if text != self.challenge_hash_hex(variant):
            raise ValidationError("contract hash does not match deployment hash")

    # -- validation and capacity ------------------------------------------------------------

    def valid(self) -> None:
        """Check the deployment like the Go node; ``ValidationError`` carries its text.

        Signatures, the twin and the contract are not checked here (see :meth:`verify`).
        """
        seen: set[str] = set()
        for workload in self.workloads:
            if workload.version > self.version:
                raise ValidationError(
                    f"workload '{workload.name}' version '{workload.version}' cannot be "
                    f"higher than deployment version '{self.version}'"
                )
            error = name_error(workload.name)
            if error is not None:
                raise ValidationError(f"name '{workload.name}' is invalid: {error}")
            if workload.name in seen:
                raise ValidationError(f"multiple workloads with the same name '{workload.name}'")
            seen.add(workload.name)
            workload.workload_data().check(self)

    def capacity(self) -> Capacity:
        """The total capacity of all workloads."""
        total = Capacity()
        for workload in self.workloads:
            total = total.add(workload.capacity())
        return total

    # -- signatures -------------------------------------------------------------------------

    def sign(self, twin_id: int, secret: bytes | KeyPair, key_type: str = "ed25519") -> None:
        """Sign the challenge hash as ``twin_id`` and store the signature (replacing any).

        ``secret`` is the 32-byte ed25519 seed, or for sr25519 the 32-byte mini-secret or
        the 64-byte expanded secret key; or a :class:`KeyPair` (then ``key_type`` is its own).
        """
        sign_deployment(self, twin_id, secret, key_type)

    def verify(
        self,
        public_key: Callable[[int], bytes],
        *,
        require_all_listed_signers: bool = True,
        variant: NetworkLightVariant = "wg",
    ) -> None:
        """Check the signatures like the node; raises ``SignatureError`` with its text.

        ``public_key`` returns the 32-byte account key of a twin (from the chain). With
        ``require_all_listed_signers`` (the node's behaviour) every listed request must carry a
        valid signature; without it, unsigned non-required requests are skipped.
        """
        verify_deployment(self, public_key, require_all_listed_signers, variant)

    # -- updates ----------------------------------------------------------------------------

    def upgrade(self, new: Deployment) -> list[UpgradeOp]:
        """The operations that turn this deployment into ``new`` (spec section 10)."""
        from .upgrade import plan_upgrade

        return plan_upgrade(self, new)
