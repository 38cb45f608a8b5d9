export default function RoutingAgentsPage() {
  return null;
}
