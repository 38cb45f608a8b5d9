export default function RoutingTeamsPage() {
  return null;
}
