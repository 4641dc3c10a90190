# Production image: the same commands as the Procfile run in docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# WeasyPrint needs Pango; fonts for PDF rendering.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install .
COPY . .
RUN DJANGO_ENV=development python manage.py collectstatic --no-input -v0 \
 && useradd --system --home /app csplatform && chown -R csplatform /app
USER csplatform
EXPOSE 8000
CMD ["gunicorn", "csplatform.wsgi", "--bind", "0.0.0.0:8000"]
