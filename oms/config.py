"""One typed Settings object (prefix ``OMS_``), built once and passed to ``create_app``."""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Literal, Self

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oms.kit.money import ASSETS, MAX_MAJOR_AMOUNT


class Mode(StrEnum):
    sandbox = "sandbox"
    live = "live"

    @property
    def key_infix(self) -> str:
        return "sdbx" if self is Mode.sandbox else "live"


class ConfigurationError(RuntimeError):
    """The server refuses to start with this configuration."""


_MIN_SECRET_BYTES = 32
# The sandbox's generated custody key-encryption key, in the data directory (when OMS_CUSTODY_KEK is unset).
DEVELOPMENT_KEK_FILE = "custody.kek"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    mode: Mode = Mode.sandbox
    data_dir: Path = Path(".oms")
    database_url: str = ""
    # PostgreSQL schema to use (search_path); empty means the database's default.
    database_schema: str = ""
    # Root secret for API-key hashing, token signing and PII encryption (base64 or hex, >= 32 bytes).
    secret_key: str = ""
    # --- custody: what wraps the master seed (docs/custody.md) ---------------------------------------------
    # "configured": AES-256-GCM under custody_kek (sandbox without one: a key generated into the data directory);
    # "pkcs11": AES-256-GCM inside a PKCS#11 token (an HSM; SoftHSM2 in tests), under a key generated there that
    # never leaves it.
    custody_backend: Literal["configured", "pkcs11"] = "configured"
    # Key-encryption key for the custody seed (base64 or hex, exactly 32 bytes). Read (and the token reached) only
    # where signatures are made: by `oms signer`, or by every process when `signer` is "in-process".
    custody_kek: str = ""
    # The PKCS#11 module (the HSM's client library; empty in sandbox: SoftHSM2's, where installed), the token's
    # label, the AES key's label, and the user PIN (or a file holding it, which wins).
    custody_pkcs11_module: str = ""
    custody_pkcs11_token_label: str = ""
    custody_pkcs11_key_label: str = "oms-custody-kek"
    custody_pkcs11_pin: str = ""
    custody_pkcs11_pin_file: Path | None = None
    # --- the signer (oms/signer; README "The signer") ---
    # "process": signatures come from the `oms signer` process over its Unix socket, and no other process reads the
    # key-encryption key or opens the seed; "in-process": each process opens the seed and signs (tests, old installs).
    signer: Literal["process", "in-process"] = "process"
    # The signer's socket; empty: <data dir>/signer.sock.
    signer_socket: Path | None = None
    # `oms serve`, `oms worker` and the commands start `oms signer` as their child when none answers on the socket
    # (false for a signer run as its own service).
    signer_spawn: bool = True
    # The user ids the signer answers (comma-separated); empty: only the signer's own.
    signer_allowed_uids: str = ""
    # How long a signature may take (connecting included) before the caller gives up and retries later.
    signer_timeout_seconds: float = Field(default=10.0, gt=0)
    # A signer on another host, over mutual TLS (docs/custody.md, "A signer on another host"). On the signer:
    # signer_tls_listen ("host:port") to listen there too, with its certificate and key, and the CA its clients'
    # certificates must chain to (and, if set, the client certificates' common names it answers). On the others:
    # signer_tls_connect ("host:port") instead of the socket, with their own certificate and key, the same CA, and
    # the name the signer's certificate must carry (default: the host).
    signer_tls_listen: str = ""
    signer_tls_connect: str = ""
    signer_tls_cert: Path | None = None
    signer_tls_key: Path | None = None
    signer_tls_ca: Path | None = None
    signer_tls_server_name: str = ""
    signer_tls_allowed_names: str = ""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # --- database connections: the budget and the timeouts (README, "Connection budget"; docs/decisions.md) ---
    # The most connections one process opens is db_pool_size + db_max_overflow + db_hot_pool_size (an `oms worker`
    # and the CLI never open the hot pool). The defaults fit four API processes, a worker and a few CLI commands
    # in a stock PostgreSQL (max_connections 100, 3 reserved): 4 x 18 + 12 = 84 of 97. `oms serve` warns at start
    # when its processes could open more than the database allows. Overflow connections are closed on return.
    db_pool_size: int = Field(default=8, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    # The hottest requests (a wallet's balance; a successful quote and execution) skip the framework and the
    # ORM on PostgreSQL: pure ASGI handlers on the driver's own pool of this many connections per process
    # (oms/fastlane: `hot_reads` switches its reads and writes, its name predating the writes). Fewer
    # connections than concurrent requests is deliberate: on a small machine every extra busy backend
    # process competes with the API for the same cores (BENCHMARKS.md).
    hot_reads: bool = True
    db_hot_pool_size: int = Field(default=6, ge=1)
    # A connection idle this long is released: the hot pool closes it, and PostgreSQL ends an ORM pool's idle
    # session after twice this (idle_session_timeout), which the pool never hands out (pool_recycle).
    db_idle_seconds: float = Field(default=60.0, gt=0)
    # Establishing a connection (TCP + start-up), and waiting for a free one of a full pool.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    # PostgreSQL ends a statement running longer than this, and a session idle inside a transaction this long
    # (so a COMMIT held up in the network cannot arrive after its client was answered); a lock wait ends
    # sooner. The process gives up on the database a second later than it (`db_client_timeout_seconds`), so
    # when the database is alive its own timeout fires first and the transaction is rolled back for certain.
    # SQLite waits at most db_lock_timeout_seconds for its write lock.
    db_statement_timeout_seconds: float = Field(default=10.0, gt=0)
    db_lock_timeout_seconds: float = Field(default=5.0, gt=0)
    # Runs the background jobs (KYC review, chain, webhooks) inside the API process; right for a
    # single-process SQLite install, switched off when separate `oms worker` processes run.
    embedded_worker: bool = True

    token_ttl_seconds: int = 3600
    idempotency_ttl_seconds: int = 24 * 3600
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    # How often the worker writes the audit chain's head to the log (`oms audit verify --head` checks one later).
    audit_head_log_seconds: float = Field(default=300, gt=0)
    # JSON lines for machines, text for people. "auto": text when the log goes to a terminal in sandbox mode,
    # JSON otherwise (a file, a pipe, a container's log, any live server).
    log_json: bool | Literal["auto"] = "auto"
    # Traces (oms/tracing.py, the optional extra oms[otel]): spans of requests, database statements and worker
    # jobs, exported over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (the SDK's variables). Off by default: it costs
    # on every request.
    opentelemetry: bool = False
    opentelemetry_service_name: str = "oms"
    # --- metrics (GET /metrics, Prometheus; README, "Metrics") ------------------------------------------
    # Answered to the addresses (or networks) in metrics_allow, or to a request with the bearer token
    # metrics_token from anywhere. Several API processes count into metrics_dir (default: <data dir>/metrics).
    metrics: bool = True
    metrics_allow: str = "127.0.0.1/32,::1/128"
    metrics_token: str = ""
    metrics_dir: Path | None = None
    # How long a scrape waits for the database and for each chain's head before reporting that source down.
    metrics_scrape_timeout_seconds: float = Field(default=2.0, gt=0)

    # --- operators and the admin API (/admin/v1; README, "Operators and the admin API") ------------------
    # Where operators reach the server (the setup links the CLI prints); empty: http://OMS_HOST:OMS_PORT.
    admin_url: str = ""
    # A one-time setup link's lifetime; a browser session's idle and absolute limits.
    admin_setup_link_seconds: float = Field(default=24 * 3600.0, ge=60)
    admin_session_idle_seconds: float = Field(default=30 * 60.0, ge=60)
    admin_session_absolute_seconds: float = Field(default=12 * 3600.0, ge=60)

    sandbox_kyc_delay_seconds: float = Field(default=0.2, ge=0)
    # Sandbox only: run the server's clock this many seconds ahead of the wall clock.
    sandbox_clock_offset_seconds: float = Field(default=0, ge=0)

    # --- money movement ---------------------------------------------------------------------------------
    quote_lock_seconds: int = Field(default=300, ge=1)
    # cryptoToCrypto fee schedule: a rate of the gross amount (0.001 = 0.1 %) plus a fixed amount of the asset.
    # Every fixed fee is at most the maximum amount (oms/kit/money.py), like every amount OMS accepts.
    fee_crypto_to_crypto_rate: Decimal = Field(default=Decimal("0"), ge=0, lt=1)
    fee_crypto_to_crypto_fixed: Decimal = Field(default=Decimal("0"), ge=0, le=MAX_MAJOR_AMOUNT)

    # --- funding (docs/decisions.md, "Funding") ---------------------------------------------------------
    # Cash-in: the fee on the deposit (1.5 % + 0.50 USD) and how long a deposit code is valid.
    fee_cash_in_rate: Decimal = Field(default=Decimal("0.015"), ge=0, lt=1)
    fee_cash_in_fixed: Decimal = Field(default=Decimal("0.50"), ge=0, le=MAX_MAJOR_AMOUNT)
    cash_in_code_seconds: int = Field(default=3600, ge=60)
    # Virtual-account deposits, per rail: a rate of the deposit plus a fixed amount in USD. Deposit
    # addresses charge the cryptoToCrypto schedule above.
    fee_ach_in_rate: Decimal = Field(default=Decimal("0.005"), ge=0, lt=1)
    fee_ach_in_fixed: Decimal = Field(default=Decimal("0"), ge=0, le=MAX_MAJOR_AMOUNT)
    fee_wire_in_rate: Decimal = Field(default=Decimal("0"), ge=0, lt=1)
    fee_wire_in_fixed: Decimal = Field(default=Decimal("8.00"), ge=0, le=MAX_MAJOR_AMOUNT)
    fee_swift_in_rate: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    fee_swift_in_fixed: Decimal = Field(default=Decimal("20.00"), ge=0, le=MAX_MAJOR_AMOUNT)

    # --- chain ------------------------------------------------------------------------------------------
    # "sandbox": the embedded chain kept in our database; "evm": a JSON-RPC node (Polygon, Amoy, anvil).
    chain: Literal["sandbox", "evm"] = "sandbox"
    # Blocks (including the one holding a transfer) before it is final and credited.
    chain_confirmations: int = Field(default=3, ge=1)
    # Sandbox chain: seconds between blocks produced by the worker (tests mine on demand instead).
    sandbox_block_seconds: float = Field(default=2.0, gt=0)
    # EVM node: the OMS chain name it serves ("polygon" or "ethereum"), where to reach it, and the
    # token contracts (empty: that asset is not available on this node).
    evm_network: str = "polygon"
    evm_rpc_url: str = ""
    evm_chain_id: int = 0
    evm_usdc_address: str = ""
    evm_usdt_address: str = ""
    # EVM sending (docs/evm.md): gas limit of one relayed transfer; a floor for the priority fee (Polygon's
    # nodes refuse tips under 25-30 gwei); a cap on maxFeePerGas; eth_getLogs page size; RPC timeout.
    # evm_dev_node: the node is a local anvil, so OMS may also mint, mine and reorganise on it.
    evm_transfer_gas_limit: int = Field(default=200_000, gt=21_000)
    evm_min_priority_fee_gwei: float = Field(default=0.0, ge=0)
    evm_max_fee_gwei: float = Field(default=2_000.0, gt=0)
    evm_log_block_chunk: int = Field(default=2_000, ge=1)
    evm_rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    evm_dev_node: bool = False

    # --- sanctions screening ------------------------------------------------------------------------------
    # Every external destination and every deposit's sender is screened against the list imported by
    # `oms screening import` ("builtin"; nothing is listed until a list is imported); "off" screens nothing.
    screening: Literal["builtin", "off"] = "builtin"

    # --- webhooks ---------------------------------------------------------------------------------------
    # Delivery: per-attempt timeout (DNS + connect + answer); the lease a claimed delivery is held for (a
    # worker that dies mid-attempt leaves it due again after this); retries back off exponentially from
    # base to cap, with jitter, until the window ends; attempts in flight per worker process, and per
    # endpoint so one slow receiver cannot take every slot; the idle poll interval.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=7200.0, gt=0)
    webhook_retry_window_seconds: float = Field(default=24 * 3600.0, gt=0)
    webhook_concurrency: int = Field(default=100, ge=1)
    webhook_concurrency_per_endpoint: int = Field(default=25, ge=1)
    webhook_poll_seconds: float = Field(default=0.05, gt=0)

    # --- rate limits and lockouts (README, "Rate limits"; docs/decisions.md, issue 14) ----------------------
    # Every request of a family counts against its API key's limit (the bearer token's key; for POST
    # /auth/token the apiKey it names) and its client address's limit; the first one exceeded answers 429.
    # Families: auth (POST /auth/token), admin_login (operator sign-in), read (GET, HEAD), write (other
    # methods), admin (/admin/v1, by address only). Limits are in the `limits` notation, "100/minute" or
    # several "10/second;1000/hour"; empty means none. The defaults are ceilings against a runaway client,
    # above what the benchmarks send from one key and one address; a deployment sets its own.
    rate_limits: bool = True
    # Where the counters are shared: "" is memory on SQLite (one process) and the database's own UNLOGGED table
    # on PostgreSQL; or "memory", "postgresql", a Redis URL (redis://, rediss://), or any `limits` async
    # storage URI (async+...). Memory is per process: only right for one API process.
    rate_limit_storage: str = ""
    # On PostgreSQL the counters use the hot pool (below): the hits of concurrent requests share one statement.
    # With the hot pool switched off (OMS_HOT_READS=false) they open this many connections of their own.
    rate_limit_pool_size: int = Field(default=2, ge=1)
    # How long a request waits for its counts. A store slower than this (or failing) is given up on: the
    # request passes uncounted, and so does every request for rate_limit_store_retry_seconds, so an outage of
    # the store never adds its timeouts to each answer (the sign-in lockout still holds: it is in the database).
    rate_limit_store_timeout_seconds: float = Field(default=0.5, gt=0)
    rate_limit_store_retry_seconds: float = Field(default=2.0, gt=0)
    rate_limit_auth_per_key: str = "60/minute"
    rate_limit_auth_per_address: str = "1200/minute"
    rate_limit_admin_login_per_address: str = "60/minute"
    rate_limit_read_per_key: str = "600000/minute"
    rate_limit_read_per_address: str = "600000/minute"
    rate_limit_write_per_key: str = "300000/minute"
    rate_limit_write_per_address: str = "300000/minute"
    rate_limit_admin_per_address: str = "6000/minute"
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or networks, e.g. "10.0.0.0/8"):
    # a request from one of them is the address its proxies name, read right to left past every trusted one.
    trusted_proxies: str = ""
    # Lockout of sign-ins (POST /auth/token, operator login): after this many failures of one subject (an API
    # key id, an operator email; a client address is shared by everyone behind one NAT, so it takes more), every
    # attempt is refused 429 for lockout_seconds, doubled at each further lockout up to lockout_max_seconds.
    # A subject without a failure for lockout_forget_seconds starts afresh; a success resets its key or email.
    lockout_failures: int = Field(default=5, ge=1)
    lockout_address_failures: int = Field(default=100, ge=1)
    lockout_seconds: int = Field(default=60, ge=1)
    lockout_max_seconds: int = Field(default=3600, ge=1)
    lockout_forget_seconds: int = Field(default=24 * 3600, ge=1)

    @field_validator(
        "rate_limit_auth_per_key",
        "rate_limit_auth_per_address",
        "rate_limit_admin_login_per_address",
        "rate_limit_read_per_key",
        "rate_limit_read_per_address",
        "rate_limit_write_per_key",
        "rate_limit_write_per_address",
        "rate_limit_admin_per_address",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit in the limits notation (e.g. '100/minute'): {value!r}") from exc
        return value.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in filter(None, (part.strip() for part in value.split(","))):
            ipaddress.ip_network(network, strict=False)  # a ValueError names the bad one
        return value

    @field_validator("fee_cash_in_fixed", "fee_ach_in_fixed", "fee_wire_in_fixed", "fee_swift_in_fixed")
    @classmethod
    def _whole_cents(cls, value: Decimal) -> Decimal:
        return _at_most_places(value, ASSETS["usd"].decimals, "cent")

    @field_validator("fee_crypto_to_crypto_fixed")
    @classmethod
    def _whole_token_units(cls, value: Decimal) -> Decimal:
        return _at_most_places(value, ASSETS["usdc"].decimals, "smallest unit of the stablecoin")

    @model_validator(mode="after")
    def _defaults_and_live_rules(self) -> Self:
        if self.db_lock_timeout_seconds > self.db_statement_timeout_seconds:
            raise ConfigurationError("OMS_DB_LOCK_TIMEOUT_SECONDS must not exceed OMS_DB_STATEMENT_TIMEOUT_SECONDS")
        if self.lockout_max_seconds < self.lockout_seconds:
            raise ConfigurationError("OMS_LOCKOUT_MAX_SECONDS must not be less than OMS_LOCKOUT_SECONDS")
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'oms.db'}"
        if self.mode is Mode.live:
            if self.sandbox_clock_offset_seconds:
                raise ConfigurationError("OMS_SANDBOX_CLOCK_OFFSET_SECONDS is not allowed in live mode")
            required = ["secret_key", "custody_kek"] if self.custody_backend == "configured" else ["secret_key"]
            for name in required:
                if not getattr(self, name):
                    raise ConfigurationError(f"OMS_{name.upper()} is required in live mode")
        return self

    def json_logs(self, stream: IO[str] | None = None) -> bool:
        """Whether the log is JSON lines: ``OMS_LOG_JSON`` if it says, else (auto) unless ``stream`` (stderr) is a
        terminal of a sandbox server."""
        if self.log_json != "auto":
            return bool(self.log_json)
        stream = stream or sys.stderr
        return self.mode is Mode.live or not (hasattr(stream, "isatty") and stream.isatty())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def admin_base_url(self) -> str:
        """The origin operators use: ``OMS_ADMIN_URL``, else this server's own address."""
        if self.admin_url:
            return self.admin_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def db_client_timeout_seconds(self) -> float:
        """How long the process waits for any one answer of the database before it answers 503."""
        return self.db_statement_timeout_seconds + 1.0

    @property
    def rate_limit_store(self) -> str:
        """Where rate limits count: "memory", "postgresql", or the `limits` async storage URI to use."""
        configured = self.rate_limit_storage.strip()
        if not configured:
            return "memory" if self.is_sqlite else "postgresql"
        if configured in {"memory", "postgresql"}:
            return configured
        return configured if configured.startswith("async+") else f"async+{configured}"

    def connections_per_process(self, *, serves: bool = True) -> int:
        """The most connections one process opens (an API process serves; a worker or a CLI command does not)."""
        hot = self.db_hot_pool_size if serves and self.hot_reads else 0
        # PostgreSQL's rate-limit counters share the hot pool; without it they open their own.
        counting = serves and self.rate_limits and self.rate_limit_store == "postgresql" and not self.hot_reads
        counters = self.rate_limit_pool_size if counting else 0
        return self.db_pool_size + self.db_max_overflow + hot + counters

    def secret_key_bytes(self) -> bytes:
        return _secret_bytes(self, "secret_key", "secret.key", exact=None)

    def custody_kek_bytes(self) -> bytes:
        return _secret_bytes(self, "custody_kek", DEVELOPMENT_KEK_FILE, exact=32)

    @property
    def signer_socket_path(self) -> Path:
        return self.signer_socket or self.data_dir / "signer.sock"

    def signer_uids(self) -> frozenset[int]:
        """The peers the signer answers: the configured uids, else its own."""
        try:
            listed = {int(part) for part in self.signer_allowed_uids.replace(",", " ").split()}
        except ValueError:
            raise ConfigurationError("OMS_SIGNER_ALLOWED_UIDS must be user ids (numbers), comma-separated") from None
        return frozenset(listed or {os.getuid()})


def _at_most_places(value: Decimal, places: int, what: str) -> Decimal:
    """A fixed fee is a whole number of smallest units: one more precise is refused, not truncated."""
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -places:
        raise ValueError(f"a fixed fee is a whole number of the {what} (at most {places} decimal places)")
    return value.normalize()  # "0.0100000" is 0.01: rendered with "f", it has the places it needs


def decode_secret(value: str) -> bytes:
    """Accept a secret as hex or (url-safe) base64."""
    value = value.strip()
    try:
        return bytes.fromhex(value)
    except ValueError:
        pass
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except ValueError as exc:
        raise ConfigurationError("secret must be hex or base64") from exc


def _secret_bytes(settings: Settings, field: str, filename: str, *, exact: int | None) -> bytes:
    configured = getattr(settings, field)
    if configured:
        raw = decode_secret(configured)
    elif settings.mode is Mode.live:
        raise ConfigurationError(f"OMS_{field.upper()} is required in live mode")
    else:
        raw = _development_secret(settings.data_dir / filename)
    if exact is not None and len(raw) != exact:
        raise ConfigurationError(f"OMS_{field.upper()} must be exactly {exact} bytes")
    if len(raw) < _MIN_SECRET_BYTES:
        raise ConfigurationError(f"OMS_{field.upper()} must be at least {_MIN_SECRET_BYTES} bytes")
    return raw


def _development_secret(path: Path) -> bytes:
    """A per-install secret generated into the data directory (sandbox only), readable only by us."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, raw.hex().encode())
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return raw
