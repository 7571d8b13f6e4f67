"""/api/v1/simulations: start a simulation of one of your bots, follow it, read its results;
/api/v1/simulations/strategies: the strategies and their settings schemas."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from core.errors import NotFound
from trading.schemas import SimulationDetailOut, SimulationIn, SimulationOut, SimulationTradeOut, StrategyOut
from trading.simulation import selectors
from trading.simulation.services import simulation_start
from trading.strategies.base import Strategy
from trading.strategies.registry import strategy_get, strategy_names
from users.schemas import ObjectId

router = Router(tags=["simulations"])


@router.post("", response={201: SimulationOut}, summary="Start a simulation of one of your bots")
def simulation_create(request: HttpRequest, payload: SimulationIn):
    run = simulation_start(user=request.auth, **payload.dict())
    return Status(201, selectors.simulation_result(run=run))


@router.get("", response=list[SimulationOut], summary="Your simulations, newest first")
def simulation_list(request: HttpRequest, subscribed_bot_id: ObjectId | None = None):
    runs = selectors.simulation_list_for_user(user=request.auth, subscribed_bot_id=subscribed_bot_id)[:100]
    return [selectors.simulation_result(run=run) for run in runs]


@router.get("/strategies", response=list[StrategyOut], summary="Strategies and their settings")
def strategy_list(request: HttpRequest):
    classes = [strategy_get(name) for name in strategy_names()]
    return [
        {"name": cls.name, "title": cls.title, "description": cls.description, "parameters": cls.params.describe()}
        for cls in classes
        if isinstance(cls, type) and issubclass(cls, Strategy)
    ]


@router.get("/{run_id}", response=SimulationDetailOut, summary="Status, progress, metrics and equity curve")
def simulation_get(request: HttpRequest, run_id: ObjectId):
    return selectors.simulation_result(run=selectors.simulation_get_for_user(user=request.auth, run_id=run_id))


@router.get("/{run_id}/trades", response=list[SimulationTradeOut], summary="The simulated trades")
def simulation_trade_list(request: HttpRequest, run_id: ObjectId):
    run = selectors.simulation_get_for_user(user=request.auth, run_id=run_id)
    return list(selectors.simulation_trades(run=run)[:10_000])


@router.get("/{run_id}/chart", summary="The result chart (PNG)", response={200: None})
def simulation_chart(request: HttpRequest, run_id: ObjectId) -> HttpResponse:
    run = selectors.simulation_get_for_user(user=request.auth, run_id=run_id)
    if not run.chart:
        raise NotFound("This simulation has no chart (yet).")
    with run.chart.open("rb") as handle:
        return HttpResponse(handle.read(), content_type="image/png")
