"""The code books a case list row is written from (see gridcity.codebook)."""

from accounts.models import Department
from cases.models import Item
from gridcity.codebook import CodeBook
from gridcity.models import Street, WorkGrid

ITEMS = CodeBook(Item, ("code", "name"))
GRIDS = CodeBook(WorkGrid)
STREETS = CodeBook(Street)
DEPARTMENTS = CodeBook(Department)
BOOKS = (ITEMS, GRIDS, STREETS, DEPARTMENTS)
