"""The Django project: settings, URLs, WSGI, the admin site and Q_CLUSTER.
Wires the apps: may import sync and warehouse; sync and warehouse import only greenlight.admin_tools."""
