export default function RoutingRulesPage() {
  return null;
}
