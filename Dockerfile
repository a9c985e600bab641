# GreenLight: one image for the web process (gunicorn) and the django-q2 worker (qcluster).
#   docker build -t greenlight .
#   docker run --env-file .env -p 8000:8000 greenlight                      # web
#   docker run --env-file .env greenlight python manage.py qcluster         # worker
#   docker run --env-file .env greenlight python manage.py migrate          # once per release
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# libpq-free: psycopg[binary] ships its own; lxml and psutil ship wheels for this base.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# collectstatic needs settings to import; these values exist only for this build step.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 greenlight && chown -R greenlight /app
USER greenlight

EXPOSE 8000
CMD ["gunicorn", "greenlight.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
