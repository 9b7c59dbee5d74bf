"""Department evaluation: KPIs per department and period, computed in SQL from a per-assignment
fact table (`kpi_assignment`) that the petition service keeps in step with the audit log.

Definitions and the period rule are in docs/evaluation.md.
"""

from .kpis import DepartmentKpis, KpiTable, Rate, department_kpis, department_table

__all__ = ["DepartmentKpis", "KpiTable", "Rate", "department_kpis", "department_table"]
