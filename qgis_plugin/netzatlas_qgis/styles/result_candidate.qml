<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
 <renderer-v2 type="categorizedSymbol" attr="kind" symbollevels="0" enableorderby="0" forceraster="0">
  <categories>
   <category render="true" value="existing_mast" label="bestehender Mast / existing mast" symbol="0"/>
   <category render="true" value="candidate_site" label="städtischer Standort / city site" symbol="1"/>
   <category render="true" value="public_building" label="öffentliches Gebäude / public building" symbol="2"/>
   <category render="true" value="streetlight" label="Straßenleuchte / streetlight" symbol="3"/>
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="215,25,28,255"/><prop k="name" v="triangle"/><prop k="size" v="3.5"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="26,150,65,255"/><prop k="name" v="square"/><prop k="size" v="3.5"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="43,131,186,255"/><prop k="name" v="pentagon"/><prop k="size" v="3.5"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
   <symbol type="marker" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" pass="0" locked="0">
     <prop k="color" v="242,177,0,255"/><prop k="name" v="circle"/><prop k="size" v="3.5"/>
     <prop k="outline_color" v="255,255,255,255"/><prop k="outline_width" v="0.2"/>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
