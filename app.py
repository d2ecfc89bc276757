"""MaestrOps controller: the Chalice app. Handlers live in chalicelib's blueprints."""

from chalice import Chalice

from chalicelib.api.contract import api_contract
from chalicelib.api.costs import costs_api
from chalicelib.api.locks import locks_api
from chalicelib.api.logs import logs_api
from chalicelib.api.pages import pages_api
from chalicelib.api.runs import runs_api
from chalicelib.api.webhook import webhook
from chalicelib.workers import workers

app = Chalice(app_name="maestrops")
app.register_blueprint(api_contract)
app.register_blueprint(webhook)
app.register_blueprint(runs_api)
app.register_blueprint(costs_api)
app.register_blueprint(locks_api)
app.register_blueprint(logs_api)
app.register_blueprint(pages_api)
app.register_blueprint(workers)
