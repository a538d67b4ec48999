"""Schemas at the boundary: create / update / public, kept apart from the ORM classes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from aion.accounts.models import SIZES, Role
from aion.program.brn import validate_brn


class CompanyBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    industry: str = Field(default="", max_length=100)
    size: str = Field(default="small")
    address: str = Field(default="", max_length=300)
    contact_name: str = Field(default="", max_length=100)
    contact_email: str = Field(default="", max_length=255)
    contact_phone: str = Field(default="", max_length=50)

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        if v not in SIZES:
            raise ValueError(f"size {v!r} is not one of {', '.join(SIZES)}")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v


class CompanyCreate(CompanyBase):
    brn: str

    @field_validator("brn")
    @classmethod
    def _brn(cls, v: str) -> str:
        return validate_brn(v)


class CompanyUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    industry: str | None = None
    size: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None

    @field_validator("size")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        if v is not None and v not in SIZES:
            raise ValueError(f"size {v!r} is not one of {', '.join(SIZES)}")
        return v


class CompanyPublic(CompanyBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    brn: str
    created_at: datetime


class UserCreate(BaseModel):
    email: EmailStr
    role: Role
    password: str
    name: str = ""
    company_id: int | None = None
    agency_id: int | None = None
    language: str = "ko"


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    company_id: int | None
    agency_id: int | None
    language: str
    is_active: bool
    locked_until: datetime | None


class LoginRequest(BaseModel):
    email: str
    password: str


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str
