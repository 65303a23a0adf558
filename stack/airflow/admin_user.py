"""The stack's Airflow 2 admin user: created with AIRFLOW_ADMIN_PASSWORD, or given it when its
password differs (DataPipeline: Set Local Airflow Password). Read from the environment, never from
argv (which other users of the machine can see). Run with the Airflow venv's python."""
import os

from airflow.auth.managers.fab.cli_commands.utils import get_application_builder
from werkzeug.security import check_password_hash

name = os.environ.get("AIRFLOW_ADMIN_USER") or "admin"
password = os.environ.get("AIRFLOW_ADMIN_PASSWORD") or "admin"
with get_application_builder() as appbuilder:
    sm = appbuilder.sm
    user = sm.find_user(username=name)
    if user is None:
        if not sm.add_user(name, "Admin", "User", f"{name}@example.org", sm.find_role("Admin"), password):
            raise SystemExit(f"datapipeline: could not create the Airflow user {name}")
        print(f"datapipeline: created user {name}")
    elif check_password_hash(user.password, password):
        print(f"datapipeline: user {name} exists")
    else:
        sm.reset_password(user.id, password)
        print(f"datapipeline: user {name} exists; its password was set to the stack's")
