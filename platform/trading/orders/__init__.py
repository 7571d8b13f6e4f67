"""Order placement and money safety (persist before send, ask before retry, reconcile, attention).

Public API:
- placement: OrderIntent, SubmitPolicy, order_place, order_place_many, order_prepare, order_submit,
  client_order_id_for
- reconcile: reconcile_all, orders_reconcile_async, positions_reconcile_async
- services (people): order_resync, order_cancel, order_attention_resolve
- attention: order_needs_attention (signal), order_alert_user, order_attention_flag
"""
