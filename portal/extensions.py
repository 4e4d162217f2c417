"""Extensions, created unbound here and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Registers the Redis storage that Flask-Limiter builds for redis:// URLs (hiredis over a
# socket, without redis-py's 7 MB a worker).
import portal.redis_store  # noqa: F401

# Stable constraint names, so Alembic can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
compress = Compress()
# Limits are set where they apply (the API, sign-in); storage comes from
# RATELIMIT_STORAGE_URI (memory by default, Redis for several processes).
limiter = Limiter(key_func=get_remote_address)

# Models subclass ``Model``: at run time Flask-SQLAlchemy's model class (table names,
# session binding), for the type checker the plain declarative base it is built from.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
